/**
 * Files: atomic writes (temporary file, then rename), folder helpers, PNG encoding. Imports nothing of
 * convnet but the root package.
 */
package convnet.io;
