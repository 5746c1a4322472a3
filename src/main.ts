import module from 'node:module';

/**
 * Node 22.1 and later keep the code they compile on disk (in the OS's temp
 * directory, or NODE_COMPILE_CACHE), so later starts skip compiling it
 * again. Only what is loaded after this call is cached, hence the server
 * is imported, not named in a static import. Node 20 has no such cache.
 */
const { enableCompileCache } = module as {
  enableCompileCache?: () => unknown;
};
enableCompileCache?.();

await import('./server.js');
