/* wk_eval_kld.h — wk-eval's subcommands kld and imatrix (argument parsing,
 * the runs, the reports); the main only dispatches.  Tool layer. */
#ifndef WK_EVAL_KLD_H
#define WK_EVAL_KLD_H

/* `wk-eval kld ...` / `wk-eval imatrix ...`: argv[0] is the subcommand.
 * Returns the exit status (0 on success; errors printed once). */
int wk_eval_kld_cmd(const char *prog, int argc, char **argv);
int wk_eval_imatrix_cmd(const char *prog, int argc, char **argv);
/* Their --help texts. */
void wk_eval_kld_usage(void);
void wk_eval_imatrix_usage(void);

#endif
