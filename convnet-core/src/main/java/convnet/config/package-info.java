/**
 * YAML with locations ({@link convnet.config.ConfigNode}: file and line, or --set), sections that know
 * which keys they read, the words of config values ({@link convnet.config.Word}), config diffs. It builds nothing: imports no other convnet package.
 */
package convnet.config;
