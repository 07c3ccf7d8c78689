-- One database per service: each service owns its schema and reads no other's tables.
CREATE DATABASE paved_catalog;
CREATE DATABASE paved_provisioning;
CREATE DATABASE paved_policy;
CREATE DATABASE paved_cost;
CREATE DATABASE paved_alerting;
