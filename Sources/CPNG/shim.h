// libpng's simplified API (png_image_*): decoding without setjmp on the caller's side.
#include <png.h>
