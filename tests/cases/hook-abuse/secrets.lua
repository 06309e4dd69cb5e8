return { password = 'outside the scripts folder' }
