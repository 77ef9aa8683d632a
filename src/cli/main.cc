#include "cli/cli.h"

int main(int argc, char** argv) { return dew::cli::Main(argc, argv); }
