/**
 * @file param.h
 * @brief Patchable parameters: variables the harness sets in the disk image.
 * @ingroup common
 *
 * A global whose name starts with `param_` and that is marked KIT_PARAM is
 * listed in the lesson's build/NN/params.json with its byte offset in
 * disk.img. Writing new bytes there changes the lesson's behaviour without
 * recompiling: that is how the harness picks a scenario (a broken guest
 * state, a stack overflow...) and how it asks a guest to stay parked.
 */
#ifndef KIT_PARAM_H
#define KIT_PARAM_H

/**
 * Place a parameter in .data even when it is zero, so that it exists in the
 * image file (zeroed variables normally go to .bss, which the file omits).
 */
#define KIT_PARAM __attribute__((section(".data.param"), used))

#endif
