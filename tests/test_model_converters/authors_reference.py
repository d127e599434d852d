"""A direct, functional transcription of the authors' forward pass (T = 1) on their keys.

Independent of mmqsd's modules: it reads a state dict in the authors' layout
(their released checkpoints' keys) and applies the QSD paper's formulas: the
architecture (Sec. 3, Fig. 2), the multi-bit spike neuron (Eq. 9), LSQ (Eq. 4-5) and
SDT-V2's LIF at T = 1.
"""
import torch
import torch.nn.functional as F


def multispike(x):  # §5.2
    return torch.floor(torch.clamp(4 * x, 0, 4) + 0.5) / 4


def multispike_att(x):
    return torch.floor(torch.clamp(4 * x, 0, 4) + 0.5) / 2


def sj_lif(threshold):  # §4.1, one step from V = 0: H = X / 2, spike iff H >= V_th
    return lambda x: (x / 2 >= threshold).to(x.dtype)


QSD = dict(sn=multispike, sn_att=multispike_att, scale=0.25, layer_scale=True)
SDTV2 = dict(sn=sj_lif(1.0), sn_att=sj_lif(0.5), scale=0.125, layer_scale=False)


class AuthorsForward:
    def __init__(self, sd, kind, num_heads):
        self.sd, self.num_heads = sd, num_heads
        self.sn, self.sn_att = kind['sn'], kind['sn_att']
        self.scale, self.layer_scale = kind['scale'], kind['layer_scale']

    def weight(self, p):
        w = self.sd[p + '.weight']
        if p + '.alpha' not in self.sd:
            return w
        a = self.sd[p + '.alpha'].view(-1, *[1] * (w.dim() - 1))
        return torch.round(torch.clamp(w / a, -8, 7)) * a  # §5.3

    def conv(self, p, x, **kw):
        fn = {3: F.conv1d, 4: F.conv2d}[x.dim()]
        return fn(x, self.weight(p), self.sd.get(p + '.bias'), **kw)

    def bn(self, p, x):
        s = self.sd
        return F.batch_norm(x, s[p + '.running_mean'], s[p + '.running_var'], s[p + '.weight'],
                            s[p + '.bias'], False, 0., 1e-5)

    def downsample(self, p, x, stride, padding, first=False):
        x = x if first else self.sn(x)
        return self.bn(p + '.encode_bn', self.conv(p + '.encode_conv', x, stride=stride,
                                                   padding=padding))

    def conv_block(self, p, x):
        c = p + '.Conv'
        y = self.bn(c + '.bn1', self.conv(c + '.pwconv1', self.sn(x)))
        y = self.conv(c + '.dwconv', self.sn(y), padding=3, groups=y.shape[1])
        x = x + self.bn(c + '.bn2', self.conv(c + '.pwconv2', y))
        y = self.bn(p + '.bn1', self.conv(p + '.conv1', self.sn(x), padding=1))
        return x + self.bn(p + '.bn2', self.conv(p + '.conv2', self.sn(y), padding=1))

    def repconv(self, p, x):
        s, b = self.sd, p + '.body.1.bn'
        y = self.bn(b, self.conv(p + '.body.0', x))
        pad = s[b + '.bias'] - s[b + '.running_mean'] * s[b + '.weight'] / torch.sqrt(
            s[b + '.running_var'] + 1e-5)
        y = F.pad(y - pad.view(-1, 1, 1), (1, 1, 1, 1)) + pad.view(-1, 1, 1)
        y = self.conv(p + '.body.2.0', y, groups=y.shape[1])
        return self.bn(p + '.body.2.2', self.conv(p + '.body.2.1', y))

    def attention(self, p, x):
        B, C, H, W = x.shape
        h = self.num_heads
        x = self.sn(x)

        def branch(name):
            t = self.sn(self.bn(f'{p}.{name}_conv.1', self.repconv(f'{p}.{name}_conv.0', x)))
            return t.flatten(2).transpose(-1, -2).reshape(B, H * W, h, C // h).permute(0, 2, 1, 3)
        q, k, v = branch('q'), branch('k'), branch('v')
        y = self.scale * (q @ (k.transpose(-2, -1) @ v))
        y = self.sn_att(y.transpose(2, 3).reshape(B, C, H * W)).reshape(B, C, H, W)
        return self.bn(p + '.proj_conv.1', self.repconv(p + '.proj_conv.0', y))

    def mlp(self, p, x):
        B, C, H, W = x.shape
        y = self.bn(p + '.fc1_bn', self.conv(p + '.fc1_conv', self.sn(x.flatten(2))))
        y = self.bn(p + '.fc2_bn', self.conv(p + '.fc2_conv', self.sn(y)))
        return y.reshape(B, C, H, W)

    def block(self, p, x):
        def gamma(name):
            return self.sd[f'{p}.{name}'].view(-1, 1, 1) if self.layer_scale else 1.
        x = x + gamma('layer_scale1') * self.attention(p + '.attn', x)
        return x + gamma('layer_scale2') * self.mlp(p + '.mlp', x)

    def __call__(self, x, depths):
        x = self.downsample('downsample1_1', x, 2, 3, first=True)
        x = self.conv_block('ConvBlock1_1.0', x)
        x = self.downsample('downsample1_2', x, 2, 1)
        x = self.conv_block('ConvBlock1_2.0', x)
        x = self.downsample('downsample2', x, 2, 1)
        x = self.conv_block('ConvBlock2_2.0', self.conv_block('ConvBlock2_1.0', x))
        x = self.downsample('downsample3', x, 2, 1)
        for i in range(depths[0]):
            x = self.block(f'block3.{i}', x)
        x = self.downsample('downsample4', x, 1, 1)
        for i in range(depths[1]):
            x = self.block(f'block4.{i}', x)
        x = self.sn(x.flatten(2).mean(2))
        out = F.linear(x, self.weight('head'), self.sd['head.bias'])
        if 'head_kd.weight' in self.sd:
            out = (out + F.linear(x, self.sd['head_kd.weight'], self.sd['head_kd.bias'])) / 2
        return out
