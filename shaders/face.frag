#version 330 core
// Texture lookup (+ with the full variant: barycentrics, camera depth, triangle id).
// uv = ((j + .5) / T, (i + .5) / T) for texel row i / column j: the texture's rows are
// uploaded first-row-first, so GL's t coordinate equals v and no flip is needed.
uniform sampler2D u_texture;

in vec2 v_uv;
in vec3 v_bary;
in float v_z;

layout(location = 0) out vec4 out_color;
#ifndef RGB_ONLY
layout(location = 1) out vec4 out_bary_depth;
layout(location = 2) out int out_tri;
#endif

void main() {
    out_color = vec4(texture(u_texture, v_uv).rgb, 1.0);
#ifndef RGB_ONLY
    out_bary_depth = vec4(v_bary, v_z);
    out_tri = gl_PrimitiveID;
#endif
}
