-- One database per service (docker-compose's postgres runs this once on first start).
CREATE DATABASE stc_licensing;
CREATE DATABASE stc_screening;
CREATE DATABASE stc_enduser;
CREATE DATABASE stc_credit;
