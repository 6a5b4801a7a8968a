/* console.h: nsrun --console-socket, a terminal for a container whose engine holds the other end. */
#ifndef TSMINC_CONSOLE_H
#define TSMINC_CONSOLE_H

/* nsrun --console-socket PATH [--console-size ROWS COLS] -- COMMAND [ARG]...: never returns. */
__attribute__((noreturn)) void console_main(int argc, char **argv);

#endif
