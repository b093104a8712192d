// SPDX-License-Identifier: Apache-2.0
// vhostmail-deliver-direct - the delivery itself, run by vhostmail-deliver; see
// deliver_programs.hh.
#include "daemons/deliver/deliver_programs.hh"

int main(int argc, char** argv) {
    return vhostmail::deliver::run_pipe(argc, argv);
}
