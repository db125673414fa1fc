"""User-facing errors: one line that names the problem and, where there is one, the fix."""


class ModelbookError(Exception):
    """An error the CLI prints as a single line (no traceback) before exiting with `exit_code`.

    exit_code 2 means "bad input" (unknown lab, bad override, corrupt file, missing package).
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


def missing_package(package: str, pip_name: str | None = None, extra: str = "") -> ModelbookError:
    """The error for an optional package that is not installed, with the command that installs it."""
    cmd = f"pip install {pip_name or package}"
    return ModelbookError(f"missing package '{package}'{extra}: install it with `{cmd}` (or re-run ./setup.sh)")


def missing_debian(what: str, path: str, apt_package: str) -> ModelbookError:
    """The error for data that ships in a Debian package that is not installed."""
    return ModelbookError(
        f"{what} not found at {path}: install it with `sudo apt-get install -y {apt_package}` (or re-run ./setup.sh as root)"
    )
