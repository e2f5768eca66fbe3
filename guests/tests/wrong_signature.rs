//! Hostile: imports `counter_add` with a wrong signature (an i32 delta instead of i64); the ABI check at load
//! must refuse it, naming the import.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{Phase, Request, Verdict};

mod bad {
    #[link(wasm_import_module = "ananas")]
    extern "C" {
        #[link_name = "counter_add"]
        pub fn counter_add_i32(name: i32, len: i32, delta: i32);
    }
}

fn on_request(_req: &Request) -> Verdict {
    let name = "x";
    unsafe { bad::counter_add_i32(name.as_ptr() as usize as i32, 1, 1) };
    Verdict::Continue
}

fn start(_args: &str) -> Result<(), String> {
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
