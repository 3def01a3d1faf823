/**
 * Loaded into a bench gateway (`node --expose-gc --import …/heapProbe.js`): on SIGUSR2 it runs
 * a full GC and prints the heap then, so the bench reads what the gateway holds, not what the
 * garbage collector has not yet reclaimed (RSS moves with GC timing by more than the figure).
 */
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  console.log(JSON.stringify({ heapProbe: process.memoryUsage() }));
});
