//! The `collateral` binary: the command line of [`collateral::cli`].

fn main() -> std::process::ExitCode {
    collateral::cli::main(std::env::args_os())
}
