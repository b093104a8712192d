// SPDX-License-Identifier: Apache-2.0
// vhostmail-deliver - local delivery agent for Postfix's pipe(8); see deliver_programs.hh.
#include "daemons/deliver/deliver_programs.hh"

int main(int argc, char** argv) {
    return vhostmail::deliver::run_relay_front(argc, argv);
}
