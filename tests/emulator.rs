//! Emulator tests: the embedded emulator on port 0, spoken to with curl, openssl-made signatures and a hyper
//! client over real TLS; and `tokenstorm emulate` as a real process.

mod authorizers;
mod curl;
mod pipeline;
mod process;
