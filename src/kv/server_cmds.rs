//! server_cmds commands.
use super::cmd::Command;

pub static COMMANDS: &[Command] = &[];
