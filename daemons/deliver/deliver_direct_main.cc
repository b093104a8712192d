// SPDX-License-Identifier: Apache-2.0
// vhostmail-deliver-direct - the delivery itself, run by vhostmail-deliver; see pipe_front.hh.
#include "daemons/deliver/pipe_front.hh"

int main(int argc, char** argv) {
    return vhostmail::deliver::run_pipe(argc, argv);
}
