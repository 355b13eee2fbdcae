/**
 * YAML with locations ({@link convnet.config.ConfigNode}: file and line, or --set), sections that record
 * what they read, config diffs. It builds nothing: imports no other convnet package.
 */
package convnet.config;
