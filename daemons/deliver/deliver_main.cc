// SPDX-License-Identifier: Apache-2.0
// vhostmail-deliver - local delivery agent for Postfix's pipe(8); see pipe_front.hh.
#include "daemons/deliver/pipe_front.hh"

int main(int argc, char** argv) {
    return vhostmail::deliver::run_relay_front(argc, argv);
}
