// Package prefetch asks the processor to bring memory into its caches
// without waiting for it: a hint for a caller that will load the memory
// soon and has other work to do first, so that cache misses overlap
// with that work.
//
// A plain load does the same but, if it misses, holds the processor's
// reorder buffer until the line arrives once enough later instructions
// queue behind it; a prefetch instruction retires at once. On amd64 Line
// is PREFETCHT0; elsewhere, and with the build tag purego, it loads the
// word holding the byte (atomically, so that the load is not optimised
// away), which still starts the miss.
package prefetch
