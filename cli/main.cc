// goalkeeperctl: see ctl.h.
#include <cstdio>

#include "cli/ctl.h"

int main(int argc, char** argv) { return goalkeeper::RunCtl(argc - 1, argv + 1, stdout, stderr); }
