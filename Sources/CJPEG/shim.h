// libjpeg reports fatal errors by calling error_exit, which by default prints and exits the
// process. Swift cannot catch a longjmp, so the whole decode runs here in C: error_exit jumps
// back into kswap_jpeg_decode, which returns -1 with libjpeg's message instead.
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

struct kswap_jpeg_error {
  struct jpeg_error_mgr base;
  jmp_buf jump;
  int too_many_scans;
};

static void kswap_jpeg_error_exit(j_common_ptr cinfo) {
  longjmp(((struct kswap_jpeg_error *)cinfo->err)->jump, 1);
}

// Warnings (corrupt-data notices) would go to stderr; libraries never print. Data that ends early
// (the file, or a scan's data at a marker) is an error, not a warning: libjpeg would fill the rest
// of the image with grey, so a few bytes that claim a huge image would decode, in full, into nothing.
static void kswap_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }
static void kswap_jpeg_emit_message(j_common_ptr cinfo, int level) {
  int code = cinfo->err->msg_code;
  if (level == -1 && (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER)) kswap_jpeg_error_exit(cinfo);
  if (level == -1) cinfo->err->num_warnings++;
}

// A progressive JPEG decodes every coefficient once per scan: a file of thousands of tiny scans is
// a CPU bomb. Legitimate files have about ten.
#define KSWAP_JPEG_MAX_SCANS 256
static void kswap_jpeg_progress(j_common_ptr cinfo) {
  j_decompress_ptr decompress = (j_decompress_ptr)cinfo;
  if (decompress->input_scan_number > KSWAP_JPEG_MAX_SCANS) {
    struct kswap_jpeg_error *error = (struct kswap_jpeg_error *)cinfo->err;
    error->too_many_scans = 1;
    longjmp(error->jump, 1);
  }
}

/// Decodes the JPEG in data[0..<size]. With out == NULL only the header is read and
/// width, height, components are set. Otherwise the pixels are written to out, row-major,
/// `channels` (1 = grey, 3 = RGB) bytes per pixel; out_size must be width*height*channels.
/// libjpeg's own buffers (a progressive image's coefficients) may take at most max_memory bytes,
/// and at most KSWAP_JPEG_MAX_SCANS scans are read.
/// Returns 0, or -1 with libjpeg's message in message.
static inline int kswap_jpeg_decode(const unsigned char *data, unsigned long size, int channels,
                                    unsigned char *out, size_t out_size, long max_memory, int *width,
                                    int *height, int *components, char *message, size_t message_size) {
  struct jpeg_decompress_struct cinfo;
  struct kswap_jpeg_error error;
  struct jpeg_progress_mgr progress;
  memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&error.base);
  error.base.error_exit = kswap_jpeg_error_exit;
  error.base.output_message = kswap_jpeg_output_message;
  error.base.emit_message = kswap_jpeg_emit_message;
  error.too_many_scans = 0;
  progress.progress_monitor = kswap_jpeg_progress;
  if (setjmp(error.jump)) {
    if (error.too_many_scans) {
      snprintf(message, message_size, "more than %d scans", KSWAP_JPEG_MAX_SCANS);
    } else {
      char text[JMSG_LENGTH_MAX];
      (*cinfo.err->format_message)((j_common_ptr)&cinfo, text);
      snprintf(message, message_size, "%s", text);
    }
    jpeg_destroy_decompress(&cinfo);
    return -1;
  }
  jpeg_create_decompress(&cinfo);
  cinfo.mem->max_memory_to_use = max_memory;
  cinfo.progress = &progress;
  jpeg_mem_src(&cinfo, data, size);
  jpeg_read_header(&cinfo, TRUE);
  *width = (int)cinfo.image_width;
  *height = (int)cinfo.image_height;
  *components = cinfo.num_components;
  if (out == NULL) {
    jpeg_destroy_decompress(&cinfo);
    return 0;
  }
  cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  size_t stride = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
  if (cinfo.output_components != channels || stride * cinfo.output_height != out_size) {
    snprintf(message, message_size, "decoded size differs from the header's");
    jpeg_destroy_decompress(&cinfo);
    return -1;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out + (size_t)cinfo.output_scanline * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return 0;
}
