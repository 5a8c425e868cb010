INSERT INTO request_link_pairs BY NAME SELECT * FROM link_pairs_new;
