//! The one integration-test binary: mqtt-send run as a user runs it, against a real mosquitto
//! (and, where a real broker cannot misbehave on cue, small scripted servers).

mod support;

mod aws;
mod bad_input;
mod batch;
mod config_errors;
mod engine;
mod examples;
mod faults;
mod generated;
mod hardening;
mod mosquitto_pub;
mod mqtt5;
mod proxy;
mod readme;
mod response;
mod retries;
mod secrets;
mod send;
mod shadow;
mod signals;
mod tls;
mod websocket;
