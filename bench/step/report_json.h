/* report_json.h - one result of a benchmark as a table row on stdout and a
 * JSON record (the format bench/step/report.py reads), shared by step_bench
 * and model_bench. Floors are bytes over the device copy bandwidth measured
 * in the same run. */
#ifndef VX_REPORT_JSON_H
#define VX_REPORT_JSON_H

#include <stdio.h>

typedef struct report {
  FILE *json;
  int first;
  double copy_gbs;
} report;

/* One table row and one JSON record. dense_ms > 0 adds the speed-up over
 * dense; step_ms > 0 adds this op's share of the step. */
static inline void emit(report *r, const char *kind, const char *name, int batch, int ctx, double ms,
                        double bytes, double dense_ms, double step_ms) {
  const double floor_ms = bytes / (r->copy_gbs * 1e6);
  printf("%-10s %-12s B=%-3d ctx=%-6d %9.4f ms  floor %8.4f  x%5.2f  %6.0f GB/s", kind, name, batch, ctx, ms, floor_ms,
         ms / floor_ms, bytes / (ms * 1e6));
  if (dense_ms > 0) printf("  %5.2fx vs dense", dense_ms / ms);
  if (step_ms > 0) printf("  %4.1f%% of step", 100.0 * ms / step_ms);
  printf("\n");
  fflush(stdout);
  if (!r->json) return;
  fprintf(r->json,
          "%s\n  {\"kind\": \"%s\", \"name\": \"%s\", \"batch\": %d, \"context\": %d, \"ms\": %.5f, \"bytes\": %.0f, "
          "\"floor_ms\": %.5f, \"ratio_to_floor\": %.4f, \"gbs\": %.1f, \"speedup_vs_dense\": %.4f, "
          "\"share_of_step\": %.4f}",
          r->first ? "" : ",", kind, name, batch, ctx, ms, bytes, floor_ms, ms / floor_ms, bytes / (ms * 1e6),
          dense_ms > 0 ? dense_ms / ms : 0.0, step_ms > 0 ? ms / step_ms : 0.0);
  fflush(r->json); /* a crash later still leaves whole records (report.py closes the array) */
  r->first = 0;
}

#endif /* VX_REPORT_JSON_H */
