// The `dew` command: parses argv and dispatches to a verb.
#pragma once

namespace dew::cli {

//! Runs the command line; returns the process exit code (0 only on success).
int Main(int argc, char** argv);

//! The dew version, e.g. "0.1.0".
const char* DewVersion();

}  // namespace dew::cli
