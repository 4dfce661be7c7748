//! keys commands.
use super::cmd::Command;

pub static COMMANDS: &[Command] = &[];
