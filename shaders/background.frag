#version 330 core
// Background pass: copies the background image pixel for pixel (or a clear colour) and
// initialises the id buffers (depth +inf, barycentrics 0, triangle -1). Alpha 0 = background.
uniform sampler2D u_background;
uniform bool u_has_background;
uniform vec3 u_clear_color;
uniform float u_flip_y;

layout(location = 0) out vec4 out_color;
#ifndef RGB_ONLY
layout(location = 1) out vec4 out_bary_depth;
layout(location = 2) out int out_tri;
#endif

void main() {
    vec3 c = u_clear_color;
    if (u_has_background) {
        ivec2 p = ivec2(gl_FragCoord.xy);
        if (u_flip_y < 0.0) p.y = textureSize(u_background, 0).y - 1 - p.y;
        c = texelFetch(u_background, p, 0).rgb;
    }
    out_color = vec4(c, 0.0);
#ifndef RGB_ONLY
    out_bary_depth = vec4(0.0, 0.0, 0.0, uintBitsToFloat(0x7F800000u));
    out_tri = -1;
#endif
}
