/* dlx spec [SECTION | --markdown]: the reference of spec keys (experiments/spec_ref.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../experiments/spec_ref.h"
#include "cli.h"

#define MAX_SECTIONS 256

static int out_of_memory(void)
{
    fprintf(stderr, "dlx spec: out of memory\n");
    return 1;
}

static int print_text(char *text)
{
    if (!text)
        return out_of_memory();
    fputs(text, stdout);
    free(text);
    return 0;
}

/* Exit 2 naming every section, and the closest to `name` when one is near. */
static int unknown_section(const char *name)
{
    static char full[MAX_SECTIONS][96];
    const char *names[MAX_SECTIONS + 1];
    int n = 0;
    dlx_spec_section s;
    for (; n < MAX_SECTIONS && dlx_spec_ref_at(n, &s); n++)
        names[n] = dlx_spec_section_name(&s, full[n], sizeof full[n]);
    names[n] = NULL;
    const char *near = dlx_closest(name, names);
    fprintf(stderr, "dlx spec: no section '%s'", name);
    if (near)
        fprintf(stderr, "; did you mean '%s'?", near);
    fprintf(stderr, "\nsections (a name also selects the sections under it, e.g. model, train, optimizer; "
                    "layers lists the layer types):\n");
    int col = 0;
    for (int i = 0; i < n; i++) {
        int w = (int)strlen(names[i]) + 2;
        if (col && col + w > 78) {
            fputs(",\n", stderr);
            col = 0;
        } else if (col) {
            col += fprintf(stderr, ", ");
        }
        col += fprintf(stderr, "%s%s", col ? "" : "  ", names[i]);
    }
    fputc('\n', stderr);
    fprintf(stderr, "(see dlx spec --help)\n");
    return 2;
}

int cmd_spec(int argc, char **argv)
{
    const char *name = NULL;
    bool markdown = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--markdown") == 0)
            markdown = true;
        else if (argv[i][0] == '-')
            return cli_usage_error("spec", "unknown option '%s'", argv[i]);
        else if (name)
            return cli_usage_error("spec", "give one SECTION, got '%s' and '%s'", name, argv[i]);
        else
            name = argv[i];
    }
    if (markdown && name)
        return cli_usage_error("spec", "--markdown prints every section; give no SECTION with it");
    if (markdown)
        return print_text(dlx_spec_ref_markdown());
    if (!name) {
        char *list = dlx_spec_ref_list();
        if (!list)
            return out_of_memory();
        printf("sections of a spec (dlx spec SECTION for its keys):\n%s", list);
        free(list);
        return 0;
    }
    bool found;
    char *text = dlx_spec_ref_text(name, &found);
    if (!text)
        return out_of_memory();
    if (!found) {
        free(text);
        return unknown_section(name);
    }
    return print_text(text);
}
