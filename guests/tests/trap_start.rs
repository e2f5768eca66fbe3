//! Hostile: its start function panics (a trap), so the host must refuse to load it.
#[path = "../sdk/lib.rs"]
mod ananas;

fn start(_args: &str) -> Result<(), String> {
    panic!("this plugin refuses to start");
}
ananas::plugin!(start);
