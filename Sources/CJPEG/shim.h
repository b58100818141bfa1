// libjpeg reports fatal errors by calling error_exit, which by default prints and exits the
// process. Swift cannot catch a longjmp, so the whole decode runs here in C: error_exit jumps
// back into kswap_jpeg_decode, which returns -1 with libjpeg's message instead.
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

struct kswap_jpeg_error {
  struct jpeg_error_mgr base;
  jmp_buf jump;
};

static void kswap_jpeg_error_exit(j_common_ptr cinfo) {
  longjmp(((struct kswap_jpeg_error *)cinfo->err)->jump, 1);
}

// Warnings (corrupt-data notices) would go to stderr; libraries never print.
static void kswap_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

/// Decodes the JPEG in data[0..<size]. With out == NULL only the header is read and
/// width, height, components are set. Otherwise the pixels are written to out, row-major,
/// `channels` (1 = grey, 3 = RGB) bytes per pixel; out_size must be width*height*channels.
/// Returns 0, or -1 with libjpeg's message in message.
static inline int kswap_jpeg_decode(const unsigned char *data, unsigned long size, int channels,
                                    unsigned char *out, size_t out_size, int *width, int *height,
                                    int *components, char *message, size_t message_size) {
  struct jpeg_decompress_struct cinfo;
  struct kswap_jpeg_error error;
  memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&error.base);
  error.base.error_exit = kswap_jpeg_error_exit;
  error.base.output_message = kswap_jpeg_output_message;
  if (setjmp(error.jump)) {
    char text[JMSG_LENGTH_MAX];
    (*cinfo.err->format_message)((j_common_ptr)&cinfo, text);
    snprintf(message, message_size, "%s", text);
    jpeg_destroy_decompress(&cinfo);
    return -1;
  }
  jpeg_create_decompress(&cinfo);
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
