/*
 * annotate-print.c - the two views of an annotated function: text for
 * people (perf annotate --stdio's shape, colour on a terminal) and JSON
 * (cprof-annotate/1, documented in cprof-annotate(1)).
 */
#include <inttypes.h>
#include <string.h>

#include "cprof/annotate.h"
#include "cprof/output.h"

#define C_BOLD "\033[1m"
#define C_RED "\033[31m"
#define C_BRED "\033[1;31m"
#define C_YEL "\033[33m"
#define C_CYAN "\033[36m"
#define C_DIM "\033[2m"
#define C_OFF "\033[0m"

#define MAX_DEPTH 64

static double pct(uint64_t v, uint64_t total)
{
	return total ? 100.0 * (double)v / (double)total : 0.0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void hex_id(struct sbuf *sb, const uint8_t *id, uint8_t n)
{
	for (uint8_t i = 0; i < n; i++)
		sbuf_addf(sb, "%02x", id[i]);
}

static const char *state_text(const struct ann_binary *b)
{
	switch (b->state) {
	case ANN_BIN_SAME: return "the same build on disk";
	case ANN_BIN_CHANGED: return "CHANGED on disk since the recording";
	case ANN_BIN_GONE: return "no longer on disk";
	case ANN_BIN_UNCHECKED: return "on disk, build not checked (no build-id)";
	case ANN_BIN_NONE: return "not a file";
	}
	return "";
}

/* The chain of inline ranges covering off, outermost first; returns its depth. */
static uint32_t inline_chain(const struct ann_view *v, uint32_t off, uint32_t depth, int *chain)
{
	uint32_t n = 0;
	for (uint32_t d = 1; d <= depth && d <= MAX_DEPTH; d++) {
		int i = ann_view_inline_at(v, off, d);
		if (i < 0)
			break;
		chain[n++] = i;
	}
	return n;
}

/* "file:line  text" (readable source) or "path:line" (not). */
static void source_marker(FILE *out, const struct ann_view *v, const struct ann_line *l,
			  const struct ann_print_opts *o, int indent)
{
	const struct ann_code *c = v->c;
	const char *text = o->source ? ann_source_line(o->sources, c->comp_dir, l->file, l->line) : NULL;
	fprintf(out, "%*s%s", indent, "", o->color ? C_CYAN : "");
	if (!*l->file)
		fputs("(no line information)", out);
	else if (text) {
		while (*text == ' ' || *text == '\t')
			text++;
		fprintf(out, "%s:%u  %s", base_name(l->file), l->line, text);
	} else if (!o->source)
		fprintf(out, "%s:%u", base_name(l->file), l->line);
	else if (l->file[0] != '/' && c->comp_dir && *c->comp_dir)
		fprintf(out, "%s/%s:%u", c->comp_dir, l->file, l->line);
	else
		fprintf(out, "%s:%u", l->file, l->line);
	fprintf(out, "%s\n", o->color ? C_OFF : "");
}

#define ROW_INDENT 29 /* where instruction text starts */

void ann_print_text(FILE *out, const struct ann_profile *ap, const struct ann_view *v, const struct ann_binary *bin,
		    const struct ann_print_opts *o)
{
	const struct cprof_data *d = ap->d;
	const struct ann_code *c = v->c;
	const struct cprof_event *ev = &d->events.v[ap->event];
	char num[32];
	struct sbuf sb = SBUF_INIT;

	const char *binname = base_name(c->dso);
	fprintf(out, binname[0] == '[' ? "%s%s%s  %s\n" : "%s%s%s  [%s]\n", o->color ? C_BOLD : "", c->func,
		o->color ? C_OFF : "", binname);
	fprintf(out, "  %s sample%s, %.2f%% of all %s samples\n", fmt_thousands(v->samples, num),
		v->samples == 1 ? "" : "s", pct(v->weight, ap->total_weight), cprof_str(d, ev->name));
	if (v->hottest != SIZE_MAX) {
		fprintf(out, "  hottest instruction %" PRIx64 " (%.2f%%)", v->rows.v[v->hottest].insn.addr,
			pct(v->rows.v[v->hottest].weight, v->weight));
		if (v->lines.n && *v->lines.v[0].file)
			fprintf(out, ", hottest line %s:%u (%.2f%%)", base_name(v->lines.v[0].file), v->lines.v[0].line,
				pct(v->lines.v[0].weight, v->weight));
		fputc('\n', out);
	}
	if (c->build_id_size) {
		sbuf_adds(&sb, ", build-id ");
		hex_id(&sb, c->build_id, c->build_id_size > 8 ? 8 : c->build_id_size);
	}
	if (c->parts.n)
		fprintf(out, "  code: saved in the recording in %zu parts around its samples (%s, %u of %u bytes from %" PRIx64
			     "%s)\n", c->parts.n, disasm_machine_name(c->machine) ? disasm_machine_name(c->machine) : "?",
			v->saved_bytes, c->len, c->start, sb.buf);
	else
		fprintf(out, "  code: %s (%s, %u bytes at %" PRIx64 "%s)\n",
			c->from == ANN_FROM_DATA ? "saved in the recording" : "read from the binary",
			disasm_machine_name(c->machine) ? disasm_machine_name(c->machine) : "?", c->len, c->start, sb.buf);
	fprintf(out, "  binary: %s, %s\n", c->dso, state_text(bin));
	sbuf_release(&sb);

	fprintf(out, "\n%s Percent  Samples   Address  Instruction%s\n", o->color ? C_BOLD : "", o->color ? C_OFF : "");
	int32_t last_line = -2;
	int prev_chain[MAX_DEPTH];
	uint32_t prev_n = 0;
	for (size_t i = 0; i < v->rows.n; i++) {
		const struct ann_row *r = &v->rows.v[i];
		uint32_t off = (uint32_t)(r->insn.addr - c->start);
		if (r->gap) {
			fprintf(out, "%*s%s%s%s\n", ROW_INDENT - 8, "", o->color ? C_DIM : "", r->insn.text,
				o->color ? C_OFF : "");
			last_line = -2;
			prev_n = 0;
			continue;
		}
		int chain[MAX_DEPTH];
		uint32_t n = inline_chain(v, off, r->inline_depth, chain);
		uint32_t same = 0;
		while (same < n && same < prev_n && chain[same] == prev_chain[same])
			same++;
		for (uint32_t k = same; k < n; k++) {
			const struct ann_inline *in = &c->inlines.v[chain[k]];
			fprintf(out, "%*s%s[inlined] %s", ROW_INDENT + 2 * (int)k, "", o->color ? C_DIM : "", in->func);
			if (*in->file)
				fprintf(out, ", called at %s:%u", base_name(in->file), in->line);
			fprintf(out, "%s\n", o->color ? C_OFF : "");
		}
		memcpy(prev_chain, chain, n * sizeof *chain);
		prev_n = n;
		if (r->line != last_line && r->line >= 0) {
			source_marker(out, v, &c->lines.v[r->line], o, ROW_INDENT + 2 * (int)n);
			last_line = r->line;
		}
		double p = pct(r->weight, v->weight);
		const char *col = !o->color || !r->weight ? "" : i == v->hottest ? C_BRED : p >= 10 ? C_RED : p >= 2 ? C_YEL : "";
		if (r->weight || r->samples)
			fprintf(out, "%s%8.2f %8" PRIu64, col, p, r->samples);
		else
			fprintf(out, "%s%8s %8s", col, "", "");
		fprintf(out, "  %c %6" PRIx64 "  %s", r->target ? '>' : ' ', r->insn.addr, r->insn.text);
		if (r->target_name)
			fprintf(out, " <%s>", r->target_name);
		if (r->back_edge)
			fputs("   ^ loop", out);
		else if (r->insn.kind == DISASM_JUMP && r->insn.has_target && !r->target_name &&
			 r->insn.target > r->insn.addr && r->insn.target - c->start < c->len)
			fputs("   v", out);
		if (r->insn.invalid)
			fputs("   (not an instruction)", out);
		fprintf(out, "%s\n", *col ? C_OFF : "");
	}

	if (v->lines.n) {
		fprintf(out, "\n  hottest lines:");
		for (size_t i = 0; i < v->lines.n && i < 5; i++) {
			const struct ann_line_sum *l = &v->lines.v[i];
			if (*l->file)
				fprintf(out, "%s %s:%u %.1f%%", i ? "," : "", base_name(l->file), l->line, pct(l->weight, v->weight));
			else
				fprintf(out, "%s (no line) %.1f%%", i ? "," : "", pct(l->weight, v->weight));
		}
		fputc('\n', out);
	}
	if (v->invalid_bytes)
		fprintf(out, "  note: %u bytes from %" PRIx64 " are not instructions capstone can decode; shown as .byte\n",
			v->invalid_bytes, v->first_invalid);
	if (v->outside_samples)
		fprintf(out, "  note: %" PRIu64 " sample%s outside this code (another part of the function, or "
			     "another static function of the same name)\n",
			v->outside_samples, v->outside_samples == 1 ? " lies" : "s lie");
	if (v->misaligned_samples)
		fprintf(out, "  note: %" PRIu64 " sample%s inside an instruction, not at its start\n",
			v->misaligned_samples, v->misaligned_samples == 1 ? " points" : "s point");
}

static void json_hex(FILE *out, uint64_t v)
{
	fprintf(out, "\"0x%" PRIx64 "\"", v);
}

static void json_id(FILE *out, const uint8_t *id, uint8_t n)
{
	if (!n) {
		fputs("null", out);
		return;
	}
	struct sbuf sb = SBUF_INIT;
	hex_id(&sb, id, n);
	json_string(out, sb.buf);
	sbuf_release(&sb);
}

static const char *kind_name(enum disasm_kind k)
{
	return k == DISASM_JUMP ? "jump" : k == DISASM_CALL ? "call" : k == DISASM_RET ? "return" : "other";
}

void ann_print_json(FILE *out, const struct ann_profile *ap, const struct ann_view *v, const struct ann_binary *bin,
		    const struct ann_print_opts *o)
{
	const struct ann_code *c = v->c;
	fputs("    {\"name\": ", out);
	json_string(out, c->func);
	fputs(", \"dso\": ", out);
	json_string(out, c->dso);
	fprintf(out, ", \"samples\": %" PRIu64 ", \"weight\": %" PRIu64 ", \"percent\": %.4f", v->samples, v->weight,
		pct(v->weight, ap->total_weight));
	fprintf(out, ",\n     \"code_from\": \"%s\", \"machine\": ", c->from == ANN_FROM_DATA ? "recording" : "binary");
	json_string(out, disasm_machine_name(c->machine) ? disasm_machine_name(c->machine) : "unknown");
	fputs(", \"start\": ", out);
	json_hex(out, c->start);
	fprintf(out, ", \"size\": %u, \"saved_bytes\": %u, \"parts\": %zu, \"build_id\": ", c->len, v->saved_bytes,
		c->parts.n ? c->parts.n : 1);
	json_id(out, c->build_id, c->build_id_size);
	fprintf(out, ",\n     \"binary\": {\"path\": ");
	json_string(out, bin->path);
	fprintf(out, ", \"state\": \"%s\", \"recorded_build_id\": ", ann_bin_state_names[bin->state]);
	json_id(out, bin->recorded, bin->recorded_size);
	fputs(", \"disk_build_id\": ", out);
	json_id(out, bin->disk, bin->disk_size);
	fputs("},\n     \"hottest_address\": ", out);
	if (v->hottest != SIZE_MAX)
		json_hex(out, v->rows.v[v->hottest].insn.addr);
	else
		fputs("null", out);
	fprintf(out, ", \"invalid_bytes\": %u, \"samples_outside\": %" PRIu64 ", \"samples_misaligned\": %" PRIu64,
		v->invalid_bytes, v->outside_samples, v->misaligned_samples);
	fputs(",\n     \"lines\": [", out);
	for (size_t i = 0; i < v->lines.n; i++) {
		const struct ann_line_sum *l = &v->lines.v[i];
		fprintf(out, "%s\n      {\"file\": ", i ? "," : "");
		json_string(out, l->file);
		fprintf(out, ", \"line\": %u, \"samples\": %" PRIu64 ", \"percent\": %.4f}", l->line, l->samples,
			pct(l->weight, v->weight));
	}
	fputs("\n     ],\n     \"instructions\": [", out);
	for (size_t i = 0, shown = 0; i < v->rows.n; i++) {
		const struct ann_row *r = &v->rows.v[i];
		const struct ann_line *l = r->line >= 0 ? &c->lines.v[r->line] : NULL;
		if (r->gap)
			continue; /* not saved: nothing to list */
		fprintf(out, "%s\n      {\"address\": ", shown++ ? "," : "");
		json_hex(out, r->insn.addr);
		fprintf(out, ", \"size\": %u, \"text\": ", r->insn.size);
		json_string(out, r->insn.text);
		fprintf(out, ", \"samples\": %" PRIu64 ", \"percent\": %.4f, \"file\": ", r->samples, pct(r->weight, v->weight));
		json_string(out, l ? l->file : "");
		fprintf(out, ", \"line\": %u, \"kind\": \"%s\", \"target\": ", l ? l->line : 0, kind_name(r->insn.kind));
		if (r->insn.has_target)
			json_hex(out, r->insn.target);
		else
			fputs("null", out);
		fputs(", \"target_name\": ", out);
		if (r->target_name)
			json_string(out, r->target_name);
		else
			fputs("null", out);
		fprintf(out, ", \"jump_target\": %s, \"back_edge\": %s, \"invalid\": %s, \"inlined\": [",
			r->target ? "true" : "false", r->back_edge ? "true" : "false", r->insn.invalid ? "true" : "false");
		int chain[MAX_DEPTH];
		uint32_t n = inline_chain(v, (uint32_t)(r->insn.addr - c->start), r->inline_depth, chain);
		for (uint32_t k = 0; k < n; k++) {
			if (k)
				fputs(", ", out);
			json_string(out, c->inlines.v[chain[k]].func);
		}
		fputs("]}", out);
	}
	fputs("\n     ]}", out);
	(void)o;
}
