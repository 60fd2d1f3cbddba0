export { runBench, type BenchReport } from './main';
export { parseOptions, usage, type BenchOptions } from './options';
export { formatReport } from './report';
