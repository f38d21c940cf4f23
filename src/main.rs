//! The `shakedown` command; everything it does lives in `shakedown::cli`.

fn main() -> std::process::ExitCode {
    shakedown::cli::main()
}
