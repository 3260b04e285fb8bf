/* What lazy_where.awk must reject (ctest codegen_where_checker): the scalar
 * output of tests/codegen/algorithms/codegen_where_lanes.vtx before the
 * generator evaluated such `where` operands eagerly. The condition of v6
 * takes the lane's dim d, and its false operand v5 ends in full-mask warp
 * shuffles. Not compiled: an excerpt for the checker only. */
/* %5 = reduce.sum %2, dim : [page, head] */
static __device__ __forceinline__ float codegen_where_lanes_index_v5(const codegen_where_lanes_index_ctx &c, const codegen_where_lanes_page &pg, int h) {
  float acc = 0.0f;
  for (int d = threadIdx.x & 31; d < 128; d += 32) {
    const float x = codegen_where_lanes_index_v2(c, pg, h, d);
    acc += x;
  }
  for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
  return acc;
}

/* %6 = where %4, %2, %5 : [page, head, dim] */
static __device__ __forceinline__ float codegen_where_lanes_index_v6(const codegen_where_lanes_index_ctx &c, const codegen_where_lanes_page &pg, int h, int d) {
  return codegen_where_lanes_index_v4(c, pg, h, d) != 0.0f ? codegen_where_lanes_index_v2(c, pg, h, d) : codegen_where_lanes_index_v5(c, pg, h);
}
