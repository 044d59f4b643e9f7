#version 330 core
// View-dependent texture in UV space, head frame:
//   albedo * (ambient + sum_k c_k max(n.l_k, 0) s_k) + sum_k c_k ks max(n.h_k, 0)^shininess s_k
// with h_k = normalize(l_k + v), l_k the unit direction head -> light k, v head -> camera,
// s_k the shadow-map visibility (1 when light k casts no shadow). Alpha 1 = covered texel.
#define MAX_LIGHTS 4
uniform sampler2D u_albedo;
uniform sampler2DShadow u_shadow_map;  // atlas: one S x S slot per shadowed light
uniform vec2 u_out_size;
uniform int u_n_lights;
uniform vec3 u_light_dir[MAX_LIGHTS];
uniform vec3 u_light_rgb[MAX_LIGHTS];     // colour * intensity
uniform int u_light_slot[MAX_LIGHTS];     // atlas slot, -1: no shadow
uniform mat4 u_light_mvp[MAX_LIGHTS];
uniform float u_shadow_offset[MAX_LIGHTS];  // normal offset (model units)
uniform float u_shadow_bias[MAX_LIGHTS];    // depth bias ([0, 1] depth units)
uniform int u_n_slots;
uniform vec3 u_ambient;
uniform vec3 u_view_dir;
uniform float u_spec_strength;
uniform float u_shininess;

in vec3 v_pos;
in vec3 v_normal;

out vec4 out_color;

float visibility(int k, vec3 p, vec3 n) {
    int slot = u_light_slot[k];
    if (slot < 0) return 1.0;
    vec4 q = u_light_mvp[k] * vec4(p + u_shadow_offset[k] * n, 1.0);
    vec3 s = q.xyz * 0.5 + 0.5;
    if (any(lessThan(s.xy, vec2(0.0))) || any(greaterThan(s.xy, vec2(1.0)))) return 1.0;
    float x = (float(slot) + s.x) / float(u_n_slots);
    return texture(u_shadow_map, vec3(x, s.y, s.z - u_shadow_bias[k]));
}

void main() {
    vec3 n = normalize(v_normal);
    vec3 albedo = texture(u_albedo, gl_FragCoord.xy / u_out_size).rgb;
    vec3 diffuse = u_ambient;
    vec3 spec = vec3(0.0);
    for (int k = 0; k < u_n_lights; ++k) {
        vec3 l = u_light_dir[k];
        float ndl = dot(n, l);
        if (ndl <= 0.0) continue;
        float vis = visibility(k, v_pos, n);
        diffuse += u_light_rgb[k] * ndl * vis;
        vec3 hv = l + u_view_dir;
        vec3 h = dot(hv, hv) > 1e-12 ? normalize(hv) : n;
        spec += u_light_rgb[k] * (u_spec_strength * pow(max(dot(n, h), 0.0), u_shininess) * vis);
    }
    out_color = vec4(clamp(albedo * diffuse + spec, 0.0, 1.0), 1.0);
}
