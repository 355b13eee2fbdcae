/**
 * libtorch start-up (native cache, threads), pointer scopes, tensor helpers and precision (autocast).
 * Imports nothing of convnet but the root package.
 */
package convnet.engine;
