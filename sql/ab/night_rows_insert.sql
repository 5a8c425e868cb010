INSERT INTO ab_user_nights SELECT * FROM ab_night_rows_new;
