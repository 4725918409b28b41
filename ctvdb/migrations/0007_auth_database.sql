-- v7: users, sessions, sign-in attempts and the CSRF secret move to the sign-in database beside
-- this one (auth_schema.sql). db.migrate copies their rows there first (_move_auth_tables);
-- then they go from here.
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS signin_attempts;
DROP TABLE IF EXISTS auth_secrets;
DROP TABLE IF EXISTS users;
