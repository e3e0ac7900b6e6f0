/*
 * report.c - `cprof report --gpu` as text, JSON (schema
 * cprof-gpu-report/1, documented in cprof-report(1)) and CSV. Shares are of
 * GPU work time: kernels + copies + memsets, summed over all streams.
 */
#include <string.h>

#include "cprof/fmt.h"
#include "cprof/gpu-report.h"
#include "cprof/output.h"

static uint64_t work_ns(const struct gpu_summary *s) { return s->kernel_ns + s->copy_ns + s->memset_ns; }

static double pct(uint64_t part, uint64_t whole) { return whole ? 100.0 * (double)part / (double)whole : 0.0; }

/* Bytes per ns is GB/s. */
static double gbps(uint64_t bytes, uint64_t ns) { return ns ? (double)bytes / (double)ns : 0.0; }

static const char *copy_name(unsigned kind, char *buf)
{
	const char *n = gpu_copy_kind_name(kind);
	if (n)
		return n;
	snprintf(buf, 32, "kind-%u", kind);
	return buf;
}

static size_t rows(size_t n, const struct gpu_report_opts *o) { return o->top && o->top < n ? o->top : n; }

void gpu_report_text(FILE *out, const struct gpu_summary *s, const struct gpu_report_opts *o)
{
	const struct cprof_data *d = s->d;
	char a[32], b[32], c[32], e[32], f[32];
	uint64_t work = work_ns(s), launches = 0, ncopies = 0;
	for (size_t i = 0; i < s->kernels.n; i++)
		launches += s->kernels.v[i].calls;
	for (size_t i = 0; i < s->copies.n; i++)
		ncopies += s->copies.v[i].calls;
	fprintf(out, "# GPU activity of '%s': %zu kernels (%llu launches), %llu copies\n", o->input, s->kernels.n,
		(unsigned long long)launches, (unsigned long long)ncopies);
	for (size_t i = 0; i < s->devices.n || i == 0; i++) {
		const struct gpu_device_row *r = s->devices.n ? &s->devices.v[i] : NULL;
		uint64_t dspan = r ? r->last_ns - r->first_ns : 0, busy = r ? r->busy_ns : 0;
		if (s->devices.n > 1)
			snprintf(f, sizeof f, "GPU %u", r->device);
		else
			snprintf(f, sizeof f, "GPU");
		fprintf(out, "# %s busy %s of %s (%.1f%%), idle %s in %llu gaps of %llu us or more (longest %s)\n", f,
			fmt_ns(busy, a), fmt_ns(dspan, b), pct(busy, dspan), fmt_ns(dspan - busy, c),
			(unsigned long long)(r ? r->gaps : 0), GPU_GAP_NS / 1000, fmt_ns(r ? r->longest_gap_ns : 0, e));
	}
	fprintf(out, "# GPU work: kernels %s, copies %s, memsets %s; synchronizing %s\n", fmt_ns(s->kernel_ns, a),
		fmt_ns(s->copy_ns, b), fmt_ns(s->memset_ns, c), fmt_ns(s->sync_ns, e));
	for (int i = 0; i < _GL_MAX; i++)
		if (s->loss[i])
			fprintf(out, "# warning: %llu %s\n", (unsigned long long)s->loss[i], gpu_loss_text((enum gpu_loss)i));

	if (s->kernels.n) {
		fprintf(out, "\nKernels\n%6s %6s %11s %11s %11s %11s  %-28s %s\n", "gpu%", "calls", "total", "avg", "min",
			"max", "longest: grid x block, regs", "name");
		for (size_t i = 0; i < rows(s->kernels.n, o); i++) {
			const struct gpu_kernel_row *k = &s->kernels.v[i];
			const struct cprof_gpu_op *h = &d->gpu_ops.v[k->heaviest];
			char shape[96];
			snprintf(shape, sizeof shape, "(%u,%u,%u)x(%u,%u,%u) %ur", h->grid[0], h->grid[1], h->grid[2],
				 h->block[0], h->block[1], h->block[2], h->regs);
			fprintf(out, "%5.1f%% %6llu %11s %11s %11s %11s  %-28s %s\n", pct(k->total_ns, work),
				(unsigned long long)k->calls, fmt_ns(k->total_ns, a), fmt_ns(k->total_ns / k->calls, b),
				fmt_ns(k->min_ns, c), fmt_ns(k->max_ns, e), shape, cprof_str(d, k->name));
		}
	}
	if (s->copies.n) {
		fprintf(out, "\nCopies\n%-6s %6s %11s %11s %11s %9s %5s\n", "kind", "calls", "bytes", "time", "bandwidth",
			"pageable", "sync");
		for (size_t i = 0; i < s->copies.n; i++) {
			const struct gpu_copy_row *r = &s->copies.v[i];
			char bw[32];
			snprintf(bw, sizeof bw, "%.2f GB/s", gbps(r->bytes, r->total_ns));
			fprintf(out, "%-6s %6llu %11s %11s %11s %9llu %5llu\n", copy_name(r->kind, f),
				(unsigned long long)r->calls, fmt_size_si(r->bytes, a), fmt_ns(r->total_ns, b), bw,
				(unsigned long long)r->pageable, (unsigned long long)r->sync);
		}
	}
	if (s->sites.n) {
		fprintf(out, "\nLaunch sites by GPU time\n%6s %11s %7s %6s  %s\n", "gpu%", "gpu time", "kernels", "copies",
			"site");
		struct sbuf label = SBUF_INIT;
		for (size_t i = 0; i < rows(s->sites.n, o); i++) {
			const struct gpu_site_row *r = &s->sites.v[i];
			sbuf_reset(&label);
			gpu_site_label(s, r, &label);
			fprintf(out, "%5.1f%% %11s %7llu %6llu  %s\n", pct(r->gpu_ns, work), fmt_ns(r->gpu_ns, a),
				(unsigned long long)r->kernels, (unsigned long long)r->copies, label.buf);
		}
		sbuf_release(&label);
	}
	fprintf(out, "\nFindings\n");
	if (!s->findings.n)
		fprintf(out, "  none\n");
	for (size_t i = 0; i < s->findings.n; i++)
		fprintf(out, "  - %s\n", s->findings.v[i].text);
}

static const char *const finding_names[] = { "idle-gaps", "tiny-kernels", "pageable-copies", "sync-copies-in-loop" };

void gpu_report_json(FILE *out, const struct gpu_summary *s, const struct gpu_report_opts *o)
{
	const struct cprof_data *d = s->d;
	uint64_t span = s->span_ns, work = work_ns(s);
	fprintf(out, "{\"schema\":\"cprof-gpu-report/1\",\"input\":");
	json_string(out, o->input);
	fprintf(out, ",\"span_ns\":%llu,\"busy_ns\":%llu,\"idle_ns\":%llu,\"idle_gaps\":%llu,\"longest_gap_ns\":%llu,"
		     "\"kernel_ns\":%llu,\"copy_ns\":%llu,\"memset_ns\":%llu,\"sync_ns\":%llu,\"dropped_records\":%llu",
		(unsigned long long)span, (unsigned long long)s->busy_ns, (unsigned long long)(span - s->busy_ns),
		(unsigned long long)s->gaps, (unsigned long long)s->longest_gap_ns, (unsigned long long)s->kernel_ns,
		(unsigned long long)s->copy_ns, (unsigned long long)s->memset_ns, (unsigned long long)s->sync_ns,
		(unsigned long long)s->dropped);
	fprintf(out, ",\"devices\":[");
	for (size_t i = 0; i < s->devices.n; i++) {
		const struct gpu_device_row *r = &s->devices.v[i];
		fprintf(out, "%s{\"device\":%u,\"span_ns\":%llu,\"busy_ns\":%llu,\"idle_ns\":%llu,\"idle_gaps\":%llu,"
			     "\"longest_gap_ns\":%llu}",
			i ? "," : "", r->device, (unsigned long long)(r->last_ns - r->first_ns),
			(unsigned long long)r->busy_ns, (unsigned long long)(r->last_ns - r->first_ns - r->busy_ns),
			(unsigned long long)r->gaps, (unsigned long long)r->longest_gap_ns);
	}
	/* Counts of what the collector could not record, by their meta key
	 * without "gpu_", and how its processes ended. */
	fprintf(out, "],\"loss\":{");
	for (int i = 0; i < _GL_MAX; i++)
		fprintf(out, "%s\"%s\":%llu", i ? "," : "", gpu_loss_key((enum gpu_loss)i) + 4,
			(unsigned long long)s->loss[i]);
	fprintf(out, ",\"bad_records\":%llu},\"processes_ended\":%llu,\"processes_signalled\":%llu",
		(unsigned long long)s->bad_records, (unsigned long long)s->processes_ended,
		(unsigned long long)s->processes_signalled);
	fprintf(out, ",\"kernels\":[");
	for (size_t i = 0; i < rows(s->kernels.n, o); i++) {
		const struct gpu_kernel_row *k = &s->kernels.v[i];
		const struct cprof_gpu_op *h = &d->gpu_ops.v[k->heaviest];
		fprintf(out, "%s{\"name\":", i ? "," : "");
		json_string(out, cprof_str(d, k->name));
		fprintf(out, ",\"calls\":%llu,\"total_ns\":%llu,\"avg_ns\":%llu,\"min_ns\":%llu,\"max_ns\":%llu,"
			     "\"percent\":%.4f,\"longest\":{\"grid\":[%u,%u,%u],\"block\":[%u,%u,%u],\"registers\":%u,"
			     "\"static_shared\":%u,\"dynamic_shared\":%u,\"device\":%u,\"stream\":%u}}",
			(unsigned long long)k->calls, (unsigned long long)k->total_ns,
			(unsigned long long)(k->total_ns / k->calls), (unsigned long long)k->min_ns,
			(unsigned long long)k->max_ns, pct(k->total_ns, work), h->grid[0], h->grid[1], h->grid[2],
			h->block[0], h->block[1], h->block[2], h->regs, h->smem_static, h->smem_dynamic, h->device,
			h->stream);
	}
	fprintf(out, "],\"copies\":[");
	for (size_t i = 0; i < s->copies.n; i++) {
		const struct gpu_copy_row *r = &s->copies.v[i];
		char f[32];
		fprintf(out, "%s{\"kind\":\"%s\",\"calls\":%llu,\"bytes\":%llu,\"total_ns\":%llu,\"bandwidth_gbps\":%.4f,"
			     "\"pageable\":%llu,\"synchronous\":%llu}",
			i ? "," : "", copy_name(r->kind, f), (unsigned long long)r->calls, (unsigned long long)r->bytes,
			(unsigned long long)r->total_ns, gbps(r->bytes, r->total_ns), (unsigned long long)r->pageable,
			(unsigned long long)r->sync);
	}
	fprintf(out, "],\"launch_sites\":[");
	for (size_t i = 0; i < rows(s->sites.n, o); i++) {
		const struct gpu_site_row *r = &s->sites.v[i];
		const struct cprof_frame *f = r->frame != GPU_NO_STACK ? &d->frames.v[r->frame] : NULL;
		fprintf(out, "%s{\"function\":", i ? "," : "");
		json_string(out, f ? cprof_str(d, f->func) : "[no launch stack]");
		fprintf(out, ",\"file\":");
		json_string(out, f ? cprof_str(d, f->file) : "");
		fprintf(out, ",\"line\":%u,\"dso\":", f ? f->line : 0);
		json_string(out, f ? cprof_str(d, f->dso) : "");
		fprintf(out, ",\"gpu_ns\":%llu,\"percent\":%.4f,\"kernels\":%llu,\"copies\":%llu,\"memsets\":%llu,"
			     "\"stack\":[",
			(unsigned long long)r->gpu_ns, pct(r->gpu_ns, work), (unsigned long long)r->kernels,
			(unsigned long long)r->copies, (unsigned long long)r->memsets);
		if (r->stack != GPU_NO_STACK) {
			const uint32_t *fr = cprof_stack_frames(d, r->stack);
			for (uint32_t k = 0; k < cprof_stack_len(d, r->stack); k++) {
				if (k)
					fputc(',', out);
				json_string(out, cprof_str(d, d->frames.v[fr[k]].func));
			}
		}
		fprintf(out, "]}");
	}
	fprintf(out, "],\"findings\":[");
	for (size_t i = 0; i < s->findings.n; i++) {
		fprintf(out, "%s{\"kind\":\"%s\",\"text\":", i ? "," : "", finding_names[s->findings.v[i].kind]);
		json_string(out, s->findings.v[i].text);
		fprintf(out, "}");
	}
	fprintf(out, "]}\n");
}

void gpu_report_csv(FILE *out, const struct gpu_summary *s, const struct gpu_report_opts *o)
{
	const struct cprof_data *d = s->d;
	uint64_t work = work_ns(s);
	fprintf(out, "table,name,calls,total_ns,avg_ns,min_ns,max_ns,percent,bytes,bandwidth_gbps\n");
	for (size_t i = 0; i < rows(s->kernels.n, o); i++) {
		const struct gpu_kernel_row *k = &s->kernels.v[i];
		fprintf(out, "kernel,");
		csv_field(out, cprof_str(d, k->name));
		fprintf(out, ",%llu,%llu,%llu,%llu,%llu,%.4f,,\n", (unsigned long long)k->calls,
			(unsigned long long)k->total_ns, (unsigned long long)(k->total_ns / k->calls),
			(unsigned long long)k->min_ns, (unsigned long long)k->max_ns, pct(k->total_ns, work));
	}
	for (size_t i = 0; i < s->copies.n; i++) {
		const struct gpu_copy_row *r = &s->copies.v[i];
		char f[32];
		fprintf(out, "memcpy,%s,%llu,%llu,%llu,,,%.4f,%llu,%.4f\n", copy_name(r->kind, f),
			(unsigned long long)r->calls, (unsigned long long)r->total_ns,
			(unsigned long long)(r->total_ns / r->calls), pct(r->total_ns, work), (unsigned long long)r->bytes,
			gbps(r->bytes, r->total_ns));
	}
	struct sbuf label = SBUF_INIT;
	for (size_t i = 0; i < rows(s->sites.n, o); i++) {
		const struct gpu_site_row *r = &s->sites.v[i];
		sbuf_reset(&label);
		gpu_site_label(s, r, &label);
		fprintf(out, "site,");
		csv_field(out, label.buf);
		fprintf(out, ",%llu,%llu,,,,%.4f,,\n", (unsigned long long)(r->kernels + r->copies + r->memsets),
			(unsigned long long)r->gpu_ns, pct(r->gpu_ns, work));
	}
	sbuf_release(&label);
}
