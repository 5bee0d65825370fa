/* cli.h — the nlpipe command-line front end: one file per subcommand
 * (core/cli/cmd-<name>.c defines nlp_cli_<name>), dispatched by main.c.
 * Every subcommand takes argv with argv[0] = its own name, prints its usage on
 * --help, and returns the process exit status: 0 success, 1 run-time failure
 * (some records failed), 2 usage or validation error. */
#ifndef NLP_CLI_H
#define NLP_CLI_H

typedef int (*nlp_cli_fn)(int argc, char **argv);

int nlp_cli_run(int argc, char **argv);
int nlp_cli_validate(int argc, char **argv);
int nlp_cli_plugins(int argc, char **argv);
int nlp_cli_inspect(int argc, char **argv);
int nlp_cli_tokenize(int argc, char **argv);
int nlp_cli_forward(int argc, char **argv);
int nlp_cli_train(int argc, char **argv);
int nlp_cli_eval(int argc, char **argv);
int nlp_cli_average(int argc, char **argv);

#endif
