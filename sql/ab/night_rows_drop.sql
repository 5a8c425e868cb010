DROP TABLE IF EXISTS ab_user_nights;
