/**
 * The command-line program: one class per command that parses options, calls one API function and
 * prints. No logic beyond that; nothing else imports this package.
 */
package convnet.cli;
