/**
 * The balancer definition every process of the typed multi-process test imports: one file,
 * shared, as an application would write it.
 */
import { algorithms, defineBalancer, moduleType } from '../../../src/index.js';
import type { MathModule } from './math.js';

export const MathBalancer = defineBalancer({
  name: 'math',
  selectionAlgorithm: algorithms.HashRing,
  // nodes named 'orders…' join; with the node option excludedNodePatterns: ['_qa'], a QA node
  // ('orders_qa…') does not, though its name contains 'orders'
  nodeMatchList: ['orders'],
  outlierDetection: false,
  module: moduleType<MathModule>('Math'),
});
