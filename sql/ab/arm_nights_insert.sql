INSERT INTO ab_arm_nights SELECT * FROM ab_arm_nights_new;
