// Routine registration is forwarded from C to Rust (extendr's R_init_collateral_extendr), so
// the linker keeps the static library's symbols.

void R_init_collateral_extendr(void *dll);

void R_init_collateral(void *dll) {
    R_init_collateral_extendr(dll);
}
