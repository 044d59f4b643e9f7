#version 330 core
// Texture lookup (+ with the full variant: barycentrics, camera depth, triangle id).
// uv = ((j + .5) / T, (i + .5) / T) for texel row i / column j: the texture's rows are
// uploaded first-row-first, so GL's t coordinate equals v and no flip is needed.
// WIREFRAME variant: anti-aliased triangle edges from the barycentrics (alpha = coverage),
// drawn after a depth pre-pass so only the visible surface's edges show.
uniform sampler2D u_texture;
#ifdef WIREFRAME
uniform vec4 u_wire_color;   // rgb in [0, 1], alpha
uniform float u_wire_width;  // pixels
#endif

in vec2 v_uv;
in vec3 v_bary;
in float v_z;

layout(location = 0) out vec4 out_color;
#ifndef RGB_ONLY
layout(location = 1) out vec4 out_bary_depth;
layout(location = 2) out int out_tri;
#endif

void main() {
#ifdef WIREFRAME
    // pixel distance to the edge opposite corner k is b_k / |grad b_k|
    vec3 g = sqrt(dFdx(v_bary) * dFdx(v_bary) + dFdy(v_bary) * dFdy(v_bary));
    vec3 dist = v_bary / max(g, vec3(1e-8));
    float d = min(dist.x, min(dist.y, dist.z));
    out_color = vec4(u_wire_color.rgb, u_wire_color.a * clamp(0.5 * u_wire_width + 0.5 - d, 0.0, 1.0));
#else
    out_color = vec4(texture(u_texture, v_uv).rgb, 1.0);
#endif
#ifndef RGB_ONLY
    out_bary_depth = vec4(v_bary, v_z);
    out_tri = gl_PrimitiveID;
#endif
}
