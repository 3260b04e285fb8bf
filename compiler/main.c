/* vortexc: the command-line front of the vx_driver library. */
#include "driver.h"

int main(int argc, char **argv) { return vx_main(argc, argv); }
