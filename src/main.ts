import module from 'node:module';
import v8 from 'node:v8';

/**
 * V8's allocation-site pretenuring, on by default, watches where objects
 * survive a young-generation collection and from then on allocates that
 * site's objects straight in the old generation. Under load, objects of
 * requests in flight survive often enough for sites on the request path
 * to be pretenured; each request then leaves a few kilobytes in the old
 * generation, and anything young they point to is kept and promoted with
 * them until the next full collection. Measured (docs/performance.md):
 * 8.7 KB promoted per GET /users/me, the heap swinging between 55 and 250
 * MB, a tenth of the main thread in scavenges. Without it the same load
 * promotes almost nothing and costs a fifth less CPU per request. Set
 * before the application is loaded, so no site is tenured by then.
 */
v8.setFlagsFromString('--no-allocation-site-pretenuring');

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
